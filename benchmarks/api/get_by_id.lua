-- GET /api/v1/products/{random id in 1..PRODUCTS}; the path prefix comes from PATH_PREFIX.
local prefix = os.getenv("PATH_PREFIX") or "/api/v1/products/"
local products = tonumber(os.getenv("PRODUCTS") or "100000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", prefix .. math.random(1, products))
end
