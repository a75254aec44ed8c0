"""The Airflow 2.5.3 stable REST API (v1) as a bundle: one module per spec tag, each handler a
function named after its operationId, assembled in `mockflow.api.bundle`."""
