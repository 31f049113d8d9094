"""What every function needs from its environment: secrets from Secrets Manager (through
the VPC endpoint) and connections to the database or cache it is wired to."""
from __future__ import annotations

import json
import os
from functools import lru_cache

from lib import pg, resp


@lru_cache(maxsize=None)
def secret(arn: str) -> str:
    import boto3  # in the Lambda runtime

    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


# The RDS CA bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem), packaged
# beside this module by `make rds-ca`; DB_SSLROOTCERT points elsewhere.
RDS_CA_BUNDLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rds-ca-bundle.pem")


def postgres() -> pg.Connection:
    creds = json.loads(secret(os.environ["DB_SECRET_ARN"]))
    return pg.Connection(os.environ["DB_HOST"], int(os.environ.get("DB_PORT", "5432")), creds["username"],
                         creds["password"], os.environ["DB_NAME"],
                         sslrootcert=os.environ.get("DB_SSLROOTCERT", RDS_CA_BUNDLE),
                         allow_insecure_auth=os.environ.get("DB_ALLOW_INSECURE_AUTH", "false") == "true")


def redis() -> resp.Redis:
    return resp.Redis(os.environ["CACHE_HOST"], int(os.environ.get("CACHE_PORT", "6379")),
                      password=secret(os.environ["CACHE_SECRET_ARN"]),
                      tls=os.environ.get("CACHE_TLS", "true") == "true")
