#!/usr/bin/env bash
# The talk's demo: one product's life through the public API, then what the metrics counted.
# Usage: docs/demo/demo.sh [BASE_URL] [HOST_HEADER]
#   default: the local cluster's ingress, http://127.0.0.1:8088 with Host inventory.localtest
set -euo pipefail
BASE=${1:-http://127.0.0.1:8088}
HOST=${2:-inventory.localtest}
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "demo.sh needs $tool: apt-get install $tool" >&2; exit 2; }
done
SKU="DEMO-$(date +%s)"
call() {  # METHOD PATH JSON|'' JQ_FILTER [curl args...]: one line "METHOD PATH -> STATUS BODY"
  local method=$1 path=$2 body=$3 filter=$4 reply
  shift 4
  reply=$(curl -sS -H "Host: $HOST" -H 'Content-Type: application/json' -X "$method" \
    ${body:+--data "$body"} "$@" -w '\n%{http_code}' "$BASE$path")
  printf '%-6s %-40s -> %s %s\n' "$method" "$path" "${reply##*$'\n'}" \
    "$(jq -c "$filter" <<<"${reply%$'\n'*}")"
}
call GET /readyz '' .
call POST /api/v1/products \
  "{\"sku\":\"$SKU\",\"name\":\"Demo widget\",\"price_cents\":1299,\"quantity\":10}" '{id, sku, quantity}'
ID=$(curl -sS -H "Host: $HOST" "$BASE/api/v1/products?q=$SKU" | jq -r '.items[0].id')
ADJUST='{"delta":-3,"reason":"order 1001"}'
call POST "/api/v1/products/$ID/stock-adjustments" "$ADJUST" . -H 'Idempotency-Key: order-1001'
call POST "/api/v1/products/$ID/stock-adjustments" "$ADJUST" . -H 'Idempotency-Key: order-1001'
call POST "/api/v1/products/$ID/stock-adjustments" '{"delta":-100,"reason":"oversell"}' '.error.code'
call DELETE "/api/v1/products" '' '.error.code'
call GET "/api/v1/products/$ID" '' '{id, quantity}'
curl -sS -H "Host: $HOST" "$BASE/metrics" | grep '^inventory_stock_adjustments_total'
