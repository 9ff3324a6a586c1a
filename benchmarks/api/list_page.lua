-- GET /api/v1/products?limit=50&cursor=C with C drawn from the cursors file (CURSORS env var),
-- so pages start at random points of the 100k rows instead of always the first one.
local cursors = {}
for line in io.lines(os.getenv("CURSORS")) do cursors[#cursors + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/products?limit=50&cursor=" .. cursors[math.random(1, #cursors)])
end
