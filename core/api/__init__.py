"""REST API plumbing shared by every app's API (no app imports: the apps' own API helpers are in
``<app>/api/``: governance's token authentication, scope permission and site/user fields, inventory's item field
and scan readers)."""
