-- wrk script: POST the body in $BODY_FILE (a TF Serving predict request) to the URL given.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

-- Count non-2xx answers so the table can say none failed.
local failures = 0
function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end
