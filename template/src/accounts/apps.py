from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    # auth_user's ids are 32-bit (auth.User's AutoField): the adopted table stays as it is.
    default_auto_field = "django.db.models.AutoField"
    verbose_name = "Accounts"
