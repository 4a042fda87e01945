"""Event names (past tense). Every state change appends one to the `events` stream and
to the case's own log; the dashboard, metrics and audit trail read them.

Every name written anywhere — by Python or by a Lua script — is declared here
(`tests/unit/test_events.py` reads the code and fails on an undeclared one).
"""

from __future__ import annotations

# a case's life
CASE_RECEIVED = "CaseReceived"
EMERGENCY_RAISED = "EmergencyRaised"
CASE_PUBLISHED = "CasePublished"
CASE_REPUBLISHED = "CaseRepublished"
CASE_OFFERED = "CaseOffered"
CASE_WAITING = "CaseWaiting"
RING_WIDENED = "RingWidened"  # a waiting case may reach further: `ring` 1 or 2, `why`
OFFER_ACCEPTED = "OfferAccepted"
OFFER_DECLINED = "OfferDeclined"
OFFER_EXPIRED = "OfferExpired"
OFFER_WITHDRAWN = "OfferWithdrawn"  # the officer became ineligible; `reason` says how
CONTACT_RECORDED = "ContactRecorded"
NOTE_ADDED = "NoteAdded"
UPDATE_GIVEN = "UpdateGiven"  # a Victims' Code update given; `next_update_at` the next due
CASE_CLOSED = "CaseClosed"
CASE_REASSIGNED = "CaseReassigned"
CASE_DEAD_LETTERED = "CaseDeadLettered"
CASE_ERASED = "CaseErased"  # personal data removed under the retention schedule

# alerts and notifications
ALERT_RAISED = "AlertRaised"
ALERT_ACKNOWLEDGED = "AlertAcknowledged"
NOTIFICATION_CREATED = "NotificationCreated"
NOTIFICATION_SENT = "NotificationSent"
NOTIFICATION_SKIPPED = "NotificationSkipped"
NOTIFICATION_FAILED = "NotificationFailed"
NOTIFICATION_DEAD_LETTERED = "NotificationDeadLettered"

# staff and officers
AVAILABILITY_CHANGED = "AvailabilityChanged"
OFFICER_UPDATED = "OfficerUpdated"

# the audit trail (who read what, who was refused)
CASE_VIEWED = "CaseViewed"
CASE_ACCESS_REFUSED = "CaseAccessRefused"
CASE_SEARCHED = "CaseSearched"
RETENTION_RUN = "RetentionRun"  # one purge run: how many cases, by kind
RECORDS_RESEALED = "RecordsResealed"  # a key rotation: sealed records re-sealed
CASE_ACTION_TAKEN = "CaseActionTaken"  # staff altered a case: `action` says which
CASE_COLLECTED = "CaseCollected"  # personal data collected at intake (`via` says how)
SIGNED_IN = "SignedIn"
SIGN_IN_FAILED = "SignInFailed"  # `username_digest`, never the typed text
SIGNED_OUT = "SignedOut"
DATA_DISCLOSED = "DataDisclosed"  # personal data sent to the person it is about
OFFICER_REMOVED = "OfficerRemoved"
ACCOUNT_CHANGED = "AccountChanged"  # `change`: created, password_reset, disabled, enabled
ACCESS_ENDED = "AccessEnded"  # sessions ended and API token revoked; `reason` says why
TOKEN_ISSUED = "TokenIssued"  # an API token issued (replacing any earlier one)
AUDIT_EXPORTED = "AuditExported"  # audit entries written out for the force's log store
AUDIT_VERIFIED = "AuditVerified"  # the chain checked; `ok` and how many entries
PARTNER_KEY_ISSUED = "PartnerKeyIssued"  # a reporting centre's API key (`partner`)
PARTNER_KEY_REVOKED = "PartnerKeyRevoked"  # that key ended at once
PARTNERS_LISTED = "PartnersListed"  # who may post reports as a partner was read out
BACKUP_CREATED = "BackupCreated"  # a snapshot of Redis taken (`liaison backup create`)
BACKUP_VERIFIED = "BackupVerified"  # a snapshot checked: loaded, its cases counted; `ok`
