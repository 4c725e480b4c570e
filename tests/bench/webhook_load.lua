-- webhook_load.lua — wrk script: POST an AdmissionReview-sized JSON body
-- (about 3 KB) over keep-alive connections, as the API server calls the
-- admission webhook. Use with tests/net server_bench:
--
--   build/tests/net/server_bench --port 8443 &
--   wrk -t1 -c16 -d10s --latency -s tests/bench/webhook_load.lua \
--       https://127.0.0.1:8443/v1/admission
--
-- Non-200 answers are counted and printed at the end (wrk's own "Non-2xx"
-- line shows them too).

local labels = {}
for i = 0, 19 do
  labels[#labels + 1] = string.format('"label-%d":"value-%d-abcdefghijklmnop"', i, i)
end

local object = '{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"checkout",' ..
  '"namespace":"shop","uid":"9b0e1c36-3f7e-4c55-a1a4-4b0f4d6f1e10","resourceVersion":"123456",' ..
  '"labels":{' .. table.concat(labels, ",") .. '}},' ..
  '"spec":{"replicas":10,"workloadRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"checkout"},' ..
  '"strategy":{"canary":{"steps":[{"setWeight":10},{"pause":{"duration":"5m"}},{"setWeight":50},' ..
  '{"analysis":{"templates":[{"templateName":"slogate-verdict"}]}}]}}}}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{' ..
  '"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",' ..
  '"kind":{"group":"argoproj.io","version":"v1alpha1","kind":"Rollout"},' ..
  '"resource":{"group":"argoproj.io","version":"v1alpha1","resource":"rollouts"},' ..
  '"namespace":"shop","operation":"UPDATE",' ..
  '"userInfo":{"username":"system:serviceaccount:argo-rollouts:argo-rollouts","groups":' ..
  '["system:serviceaccounts","system:serviceaccounts:argo-rollouts","system:authenticated"]},' ..
  '"object":' .. object .. ',"oldObject":' .. object .. ',"dryRun":false}}'

local failures = 0

function response(status, headers, body)
  if status ~= 200 then
    failures = failures + 1
  end
end

function done(summary, latency, requests)
  io.write(string.format("body %d bytes; non-200 answers (last thread) %d\n", #wrk.body, failures))
end
