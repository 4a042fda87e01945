"""Event names (past tense). Every state change appends one to the `events` stream and
to the case's own log; the dashboard, metrics and audit trail read them."""

from __future__ import annotations

CASE_RECEIVED = "CaseReceived"
EMERGENCY_RAISED = "EmergencyRaised"
ALERT_RAISED = "AlertRaised"
CASE_PUBLISHED = "CasePublished"
CASE_REPUBLISHED = "CaseRepublished"
CASE_OFFERED = "CaseOffered"
CASE_WAITING = "CaseWaiting"
OFFER_ACCEPTED = "OfferAccepted"
OFFER_DECLINED = "OfferDeclined"
OFFER_EXPIRED = "OfferExpired"
OFFER_WITHDRAWN = "OfferWithdrawn"  # the officer became ineligible; `reason` says how
CONTACT_RECORDED = "ContactRecorded"
CASE_CLOSED = "CaseClosed"
CASE_REASSIGNED = "CaseReassigned"
CASE_VIEWED = "CaseViewed"
CASE_ACCESS_REFUSED = "CaseAccessRefused"
CASE_SEARCHED = "CaseSearched"
