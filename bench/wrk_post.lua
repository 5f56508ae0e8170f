-- wrk's side of bench/e2e.sh's client check: the same POST loadgen sends (its body, written by
-- `loadgen --sample-body`, and a Stripe-Signature of the same length), so the two clients drive
-- the static responder with equal requests.
wrk.method = "POST"
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Stripe-Signature"] = "t=" .. os.time() .. ",v1=" .. string.rep("0", 64)
