"""Django's PostgreSQL backend, which during a rotation of the role's password also tries the password it replaces.

A rotation changes the app's configuration first (the new password, and the old one as PREVIOUS_PASSWORD), then the
role's password on the server: new connections succeed throughout, with the old password until the server has the
new one. Connections already open are never affected; PostgreSQL checks a password only when a connection starts.
"""

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        try:
            return super().get_new_connection(conn_params)
        except base.Database.OperationalError as error:
            previous = self.settings_dict.get("PREVIOUS_PASSWORD")
            if not previous or "password authentication failed" not in str(error):
                raise
            return super().get_new_connection({**conn_params, "password": previous})
