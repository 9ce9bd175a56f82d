"""The hot-path query catalog and its helper statements, as `.sql` files in logical names."""
