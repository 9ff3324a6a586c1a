-- POST /api/v1/products/{random id}/stock-adjustments with delta +1 or -1 (stock starts at 1e6).
local products = tonumber(os.getenv("PRODUCTS") or "100000")
math.randomseed(os.time())
request = function()
  local delta = (math.random(0, 1) == 0) and -1 or 1
  local body = '{"delta":' .. delta .. ',"reason":"benchmark"}'
  return wrk.format("POST", "/api/v1/products/" .. math.random(1, products) .. "/stock-adjustments",
    {["Content-Type"] = "application/json"}, body)
end
