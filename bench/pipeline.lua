-- SPDX-License-Identifier: MIT
-- bench/pipeline.lua: wrk script for HTTP/1.1 pipelining, as TechEmpower's plaintext test runs
-- it: every write carries DEPTH copies of the request (wrk's own GET of the URL given on the
-- command line), so a server sees DEPTH requests per read and may answer them in one write.
-- wrk counts each response, so its requests/s are requests, not batches; its latency figures
-- are per batch. Usage: wrk -s bench/pipeline.lua URL -- DEPTH   (DEPTH defaults to 16)
init = function(args)
    local depth = tonumber(args[1]) or 16
    local r = {}
    for i = 1, depth do
        r[i] = wrk.format()
    end
    req = table.concat(r)
end

request = function()
    return req
end
