SITE_ADDRESS=example.com ALLOWED_HOSTS=example.com just stack-deploy   # HTTPS on 80 and 443
