-- Verification evidence and the four-eyes rule (docs/requests.md). dv_requests.verification
-- (from 0005) holds the method (id_porten, in_person, bankid, letter, other); the evidence is a
-- reference to where the proof is kept (a case or document number), never personal data.
-- Each history row of a verification carries the method and evidence too, so the history alone
-- says who verified and by what means.
ALTER TABLE dv_requests ADD COLUMN verification_evidence VARCHAR(128);
ALTER TABLE dv_request_events ADD COLUMN method VARCHAR(16), ADD COLUMN evidence VARCHAR(128);
