-- A DORA report for some services reads the incidents resolved in its range (2021's time to
-- restore, and the recovery of the range's failed deployments) per service, not by walking
-- every incident resolved in the range. Keep in step with the other engine's 0012.
CREATE INDEX issues_service_resolved ON issues (service_id, resolution_date) WHERE incident = 1;
