# shellcheck shell=bash
# Sourced by dev.sh and test.sh: the addresses of the local services, exported so that
# services.sh (which starts them there), the server and the tests agree. Values already set win.
export TIMELINE_DYNAMODB_ENDPOINT="${TIMELINE_DYNAMODB_ENDPOINT:-http://127.0.0.1:8000}"
export TIMELINE_REDIS_URL="${TIMELINE_REDIS_URL:-redis://127.0.0.1:6379}"
# DynamoDB Local (-sharedDb) ignores credentials, but the AWS SDK (the aws CLI too) refuses to
# sign without some and would otherwise probe the EC2 metadata endpoint for them.
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_EC2_METADATA_DISABLED=true
