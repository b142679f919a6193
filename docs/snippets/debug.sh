cd cafe-ledger
just debug sq        # runserver under debugpy; attach to 127.0.0.1:5678, browse 127.0.0.1:8080
