-- Argo CD health check for pier's TransferEndpoint and TransferUser (transfer.pier.dev), from their Ready
-- condition. docs/gitops.md explains it; test/gitops runs it against sample objects.
-- Argo CD runs health checks without Lua's string library (unless useOpenLibs is set for the kind), so this
-- script uses only the base and table libraries.
local hs = {}

-- Ready=False reasons that resolve without anyone's help: Progressing. Every other False reason needs someone to
-- change a Secret, the spec or the cluster (a Secret is missing or invalid, the endpoint does not exist, the
-- username is taken, cert-manager is not installed, the certificate expired, ...): Degraded.
local waiting = {
  Pending = true,                  -- TransferUser: the endpoint does not serve the user's current settings yet
  GeneratedPasswordPending = true, -- TransferUser: the operator is generating the password
  PodsNotAvailable = true,         -- TransferEndpoint: pier-server pods are starting or rolling
  PodsUnschedulable = true,        -- TransferEndpoint: no node fits a pod yet (a cluster autoscaler may add one)
  EndpointUnavailable = true,      -- TransferUser: served, but its endpoint has no pod available yet
  CertificatePending = true,       -- TransferEndpoint: cert-manager has not issued the certificate yet
  LoadBalancerPending = true,      -- TransferEndpoint: the load balancer has no address yet
  ReconcileFailed = true,          -- an API error; the operator retries with backoff
}

local ready = nil
if obj.status ~= nil and obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report the Ready condition"
  return hs
end

-- A condition written for an older generation says nothing about the spec now in the cluster.
local generation = obj.metadata.generation or 0
local observed = ready.observedGeneration or obj.status.observedGeneration or 0
if observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end

local message = (ready.reason or "") .. ": " .. (ready.message or "")
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" and ready.reason == "ScaledToZero" then
  -- spec.replicas is 0 on purpose; Argo CD calls a Deployment scaled to zero Healthy too.
  hs.status = "Healthy"
elseif ready.status == "False" and not waiting[ready.reason] then
  hs.status = "Degraded"
else
  hs.status = "Progressing"
end
hs.message = message
return hs
