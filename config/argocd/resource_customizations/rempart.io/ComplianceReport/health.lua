hs = {}
if obj.status == nil or obj.status.summary == nil or obj.status.lastEvaluated == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for Rempart to write the report"
  return hs
end
local s = obj.status.summary
if (s.nonCompliant or 0) == 0 then
  hs.status = "Healthy"
  hs.message = "Score " .. (s.scoreText or "") .. ", " .. (s.notCovered or 0) .. " requirements not covered"
  return hs
end
hs.status = "Degraded"
hs.message = (s.nonCompliant or 0) .. " requirements NonCompliant"
if obj.status.requirements ~= nil then
  for _, r in ipairs(obj.status.requirements) do
    if r.state == "NonCompliant" then
      hs.message = r.id .. " NonCompliant"
      if r.controls ~= nil and r.controls[1] ~= nil then
        hs.message = hs.message .. ": " .. r.controls[1].kind .. " " .. r.controls[1].policy .. ", " .. r.controls[1].control .. ": " .. r.controls[1].message
      end
      break
    end
  end
end
return hs
