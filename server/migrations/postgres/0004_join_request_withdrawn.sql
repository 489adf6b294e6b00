-- A requester may withdraw a pending join request: status 'withdrawn'. The column's CHECK has
-- PostgreSQL's default name (<table>_<column>_check); it is replaced under the same name.
-- `decided_by` then names the requester who withdrew.
ALTER TABLE join_requests DROP CONSTRAINT join_requests_status_check;
ALTER TABLE join_requests ADD CONSTRAINT join_requests_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn'));
