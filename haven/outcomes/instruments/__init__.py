"""Rating instruments as pure modules (no Django): items, answers, scoring, FHIR Questionnaire."""
