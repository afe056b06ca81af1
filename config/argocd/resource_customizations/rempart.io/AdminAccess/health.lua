-- Argo CD health of every Rempart policy kind: Progressing until Rempart has evaluated the
-- current generation, Healthy when Compliant, Degraded when NonCompliant with the first failing
-- control as message. hack/sync-manifests.sh copies it to each policy kind's
-- resource_customizations/rempart.io/<Kind>/health.lua (Argo CD wants one per kind).
hs = {}
local function condition(name)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == name then
      return c
    end
  end
  return nil
end
local compliant = condition("Compliant")
local generation = obj.metadata.generation or 0
if compliant == nil or (compliant.observedGeneration or 0) < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for Rempart to evaluate generation " .. generation
  return hs
end
if compliant.status == "True" then
  hs.status = "Healthy"
  hs.message = compliant.message
  return hs
end
if compliant.status == "False" then
  hs.status = "Degraded"
  hs.message = compliant.message
  if obj.status.controls ~= nil then
    for _, c in ipairs(obj.status.controls) do
      if c.state == "NonCompliant" then
        hs.message = c.id .. ": " .. c.message
        break
      end
    end
  end
  return hs
end
hs.status = "Progressing"
hs.message = compliant.message
return hs
