"""Wire shapes of the Airflow 2.5.3 v1 bundle: store records turned into the JSON the API answers."""
