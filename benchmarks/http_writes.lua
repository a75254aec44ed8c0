-- wrk script for benchmarks/http.py: POST a new variable, then DELETE it, one request at a time.
local counter = 0
local auth = os.getenv("MOCKFLOW_BENCH_AUTH")

request = function()
  counter = counter + 1
  local key = "bench_" .. math.floor((counter + 1) / 2)
  if counter % 2 == 1 then
    local body = '{"key": "' .. key .. '", "value": "x"}'
    return wrk.format("POST", "/api/v1/variables",
                      {["Authorization"] = auth, ["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("DELETE", "/api/v1/variables/" .. key, {["Authorization"] = auth})
end
