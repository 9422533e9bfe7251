#!/usr/bin/env python3
"""Upload the web client (web/) to a deployed stack with WebClient=enabled.

    scripts/deploy-web.py --stack timeline-dev             (make deploy runs it after sam deploy)
    scripts/deploy-web.py --outputs FILE --dry-run         (what it would upload, offline)
    scripts/deploy-web.py --check-template template.yaml   (the template declares what it reads)

It reads the stack's outputs (WebBucketName, WebDistributionId, WebUrl, ApiUrl,
CognitoHostedUiDomain, UserPoolClientId), writes the client's config.json from them (web/README.md),
puts every file of web/ but its README under app/ with its content type, and invalidates /app/*
so the new files are served at once. A stack without WebBucketName (WebClient=disabled) is left
alone. boto3 comes with aws-sam-cli, which `make deploy` needs anyway.
"""

import argparse
import json
import mimetypes
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEB_DIR = os.path.join(ROOT, "web")
NEEDED = ["WebBucketName", "WebDistributionId", "WebUrl", "ApiUrl", "CognitoHostedUiDomain", "UserPoolClientId"]
# Types S3 would otherwise store as binary/octet-stream, which browsers refuse for modules.
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8", ".json": "application/json; charset=utf-8"}


def stack_outputs(stack):
    import boto3  # only for a real upload: --dry-run works without it

    described = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def client_config(outputs):
    return {
        "mode": "cognito",
        "api_base": outputs["ApiUrl"],
        "cognito": {
            "domain": outputs["CognitoHostedUiDomain"],
            "client_id": outputs["UserPoolClientId"],
            "redirect_uri": outputs["WebUrl"],
        },
    }


def files_to_upload(config):
    """(key, body, content type) of every object, config.json last."""
    uploads = []
    for name in sorted(os.listdir(WEB_DIR)):
        path = os.path.join(WEB_DIR, name)
        if name == "README.md" or name == "config.json" or not os.path.isfile(path):
            continue
        extension = os.path.splitext(name)[1]
        kind = TYPES.get(extension) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        with open(path, "rb") as f:
            uploads.append((f"app/{name}", f.read(), kind))
    uploads.append(("app/config.json", json.dumps(config, indent=1).encode(), TYPES[".json"]))
    return uploads


def upload(outputs, uploads):
    import boto3

    s3 = boto3.client("s3")
    for key, body, kind in uploads:
        # Revalidated on every load: a deploy shows at once, and CloudFront still serves the bytes.
        s3.put_object(Bucket=outputs["WebBucketName"], Key=key, Body=body, ContentType=kind,
                      CacheControl="no-cache")
    boto3.client("cloudfront").create_invalidation(
        DistributionId=outputs["WebDistributionId"],
        InvalidationBatch={"Paths": {"Quantity": 1, "Items": ["/app/*"]}, "CallerReference": str(time.time())},
    )


def check_template(path):
    """Whether the template's Outputs declare every output this script reads."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    outputs = text[text.index("\nOutputs:\n"):]
    missing = [name for name in NEEDED if f"\n  {name}:\n" not in outputs]
    for name in missing:
        print(f"deploy-web: {path} has no output {name}, which this script reads", file=sys.stderr)
    return 1 if missing else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="the deployed stack's name")
    source.add_argument("--outputs", help="a JSON file of stack outputs instead of asking CloudFormation")
    source.add_argument("--check-template", metavar="TEMPLATE", help="check the template's outputs and exit")
    parser.add_argument("--dry-run", action="store_true", help="print what would be uploaded; upload nothing")
    args = parser.parse_args()
    if args.check_template:
        return check_template(args.check_template)
    if args.outputs:
        with open(args.outputs, encoding="utf-8") as f:
            outputs = json.load(f)
    else:
        outputs = stack_outputs(args.stack)
    if "WebBucketName" not in outputs:
        print("deploy-web: the stack has no web client (WebClient=disabled); nothing to upload")
        return 0
    missing = [name for name in NEEDED if name not in outputs]
    if missing:
        print(f"deploy-web: the stack's outputs lack {', '.join(missing)}", file=sys.stderr)
        return 1
    uploads = files_to_upload(client_config(outputs))
    size = sum(len(body) for _, body, _ in uploads)
    for key, body, kind in uploads:
        print(f"deploy-web: {'would put' if args.dry_run else 'put'} s3://{outputs['WebBucketName']}/{key} "
              f"({len(body)} bytes, {kind})")
    if not args.dry_run:
        upload(outputs, uploads)
        print(f"deploy-web: {len(uploads)} files, {size} bytes; open {outputs['WebUrl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
