// The OpenAPI 3.0.3 document of `rapport serve`, served at /openapi.json so Salesforce External
// Services and similar tools can import it. tests/serve checks it against the OpenAPI 3.0 JSON
// Schema and against the server's own route table.

#include "serve/service.hpp"

namespace rapport::serve {

namespace {

constexpr const char* kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "Rapport",
    "version": "1",
    "description": "Ask Rapport at the moment of a change: what-if questions against the loaded CRM snapshot, record checks, findings, and CRM change notifications. See docs/serve.md."
  },
  "servers": [{"url": "http://127.0.0.1:8080", "description": "the default listen address; production goes through a TLS reverse proxy"}],
  "security": [{"bearerKey": []}, {"headerKey": []}],
  "paths": {
    "/healthz": {
      "get": {
        "operationId": "health", "summary": "The process is up.", "security": [],
        "responses": {"200": {"description": "up", "content": {"application/json": {"schema": {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}}}}}
      }
    },
    "/readyz": {
      "get": {
        "operationId": "ready", "summary": "A snapshot is loaded; the last reload's result and diagnostics.", "security": [],
        "responses": {
          "200": {"description": "ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ready"}}}},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/metrics": {
      "get": {
        "operationId": "metrics", "summary": "Prometheus text exposition format 0.0.4.", "security": [],
        "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/openapi.json": {
      "get": {
        "operationId": "openapi", "summary": "This document.", "security": [],
        "responses": {"200": {"description": "the OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    },
    "/v1/check": {
      "post": {
        "operationId": "check", "summary": "Evaluate the rules that need only the records sent.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CheckRequest"}}}},
        "responses": {
          "200": {"description": "a rapport.findings/1 report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FindingsReport"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/what-if": {
      "post": {
        "operationId": "whatIf", "summary": "The findings a proposed change would create, resolve or change.",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WhatIfRequest"}}}},
        "responses": {
          "200": {"description": "the effect", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChangeEffect"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/findings": {
      "get": {
        "operationId": "findings", "summary": "The snapshot's open findings, filtered.",
        "parameters": [
          {"name": "owner", "in": "query", "schema": {"type": "string"}, "description": "user id of the account manager who answers for the finding"},
          {"name": "rule", "in": "query", "schema": {"type": "string"}},
          {"name": "severity", "in": "query", "schema": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]}}
        ],
        "responses": {
          "200": {"description": "a rapport.findings/1 report", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FindingsReport"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/webhooks/hubspot": {
      "post": {
        "operationId": "hubspotWebhook", "summary": "HubSpot webhook events (v3 signature).", "security": [{"hubspotSignature": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/HubspotEvent"}}}}},
        "responses": {
          "200": {"description": "applied", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookResult"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/webhooks/dynamics": {
      "post": {
        "operationId": "dynamicsWebhook", "summary": "A Dataverse service endpoint's RemoteExecutionContext.", "security": [{"dataverseKey": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["MessageName", "PrimaryEntityName", "PrimaryEntityId"]}}}},
        "responses": {
          "200": {"description": "applied", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookResult"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/v1/webhooks/salesforce": {
      "post": {
        "operationId": "salesforceWebhook", "summary": "Salesforce Change Data Capture events, sent through a Named Credential.", "security": [{"bearerKey": []}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
          "200": {"description": "applied", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookResult"}}}},
          "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"},
          "422": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearerKey": {"type": "http", "scheme": "bearer", "description": "an API key from auth.api_keys, or the Salesforce webhook token"},
      "headerKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
      "hubspotSignature": {"type": "apiKey", "in": "header", "name": "X-HubSpot-Signature-v3", "description": "base64(HMAC-SHA256(client secret, method + URI + body + X-HubSpot-Request-Timestamp))"},
      "dataverseKey": {"type": "apiKey", "in": "header", "name": "x-rapport-key", "description": "the header (or query key) named in auth.dynamics"}
    },
    "responses": {
      "Error": {"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
          "code": {"type": "string", "enum": ["bad_request", "malformed_json", "unknown_field", "unknown_parameter", "invalid_parameter", "invalid_request", "invalid_change", "invalid_webhook", "unauthenticated", "invalid_api_key", "invalid_token", "missing_key", "invalid_key", "missing_signature", "invalid_signature", "invalid_timestamp", "stale_timestamp", "not_found", "webhook_not_configured", "method_not_allowed", "request_timeout", "replayed", "payload_too_large", "headers_too_large", "overloaded", "not_ready", "internal"]},
          "message": {"type": "string"},
          "details": {"nullable": true}
        }}}
      },
      "Ready": {"type": "object", "properties": {"ready": {"type": "boolean"}, "snapshot": {"type": "object"}, "last_reload": {"type": "object", "nullable": true}}},
      "Finding": {
        "type": "object", "required": ["pack", "rule", "severity", "subject", "message", "fingerprint"],
        "properties": {
          "pack": {"type": "string"}, "pack_version": {"type": "string"}, "rule": {"type": "string"}, "title": {"type": "string"},
          "severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]},
          "base_severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"]},
          "subject": {"type": "object", "properties": {"entity": {"type": "string"}, "id": {"type": "string"}, "value": {"type": "string"}, "name": {"type": "string"}}},
          "message": {"type": "string", "description": "the explanation"}, "remedy": {"type": "string"},
          "tags": {"type": "array", "items": {"type": "string"}}, "evidence": {"type": "object"}, "fingerprint": {"type": "string"}
        }
      },
      "FindingsReport": {
        "type": "object", "required": ["schema", "findings"],
        "properties": {"schema": {"type": "string", "enum": ["rapport.findings/1"]}, "rapport_version": {"type": "string"}, "as_of": {"type": "string"},
                       "packs": {"type": "array", "items": {"type": "object"}}, "summary": {"type": "object"},
                       "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                       "skipped_rules": {"type": "array", "items": {"type": "object"}}}
      },
      "CheckRequest": {
        "type": "object", "required": ["records"], "additionalProperties": false,
        "properties": {
          "records": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "object"}}, "description": "entity -> canonical records"},
          "packs": {"type": "array", "items": {"type": "string"}, "description": "pack names; default: every served pack"},
          "as_of": {"type": "string", "description": "a date or UTC timestamp; default: the server's"}
        }
      },
      "RecordChange": {
        "type": "object", "required": ["entity", "id"], "additionalProperties": false,
        "properties": {"op": {"type": "string", "enum": ["upsert", "delete"], "default": "upsert"}, "entity": {"type": "string"}, "id": {"type": "string"}, "fields": {"type": "object"}}
      },
      "WhatIfRequest": {
        "type": "object", "required": ["changes"], "additionalProperties": false,
        "properties": {"changes": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/RecordChange"}}}
      },
      "ChangeEffect": {
        "type": "object",
        "properties": {"as_of": {"type": "string"}, "created": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                       "resolved": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                       "changed": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
                       "subjects_evaluated": {"type": "integer"}}
      },
      "WebhookResult": {
        "allOf": [{"$ref": "#/components/schemas/ChangeEffect"},
                  {"type": "object", "properties": {"events": {"type": "integer"}, "applied": {"type": "integer"}, "ignored": {"type": "integer"},
                                                    "writeback": {"$ref": "#/components/schemas/WebhookWriteback"}}}]
      },
      "WebhookWriteback": {
        "type": "object", "required": ["mode"],
        "description": "present when serve.yaml's writeback.mode is dry-run or apply (docs/serve.md, Write-back)",
        "properties": {"mode": {"type": "string", "enum": ["dry-run", "apply"]},
                       "planned": {"type": "array", "items": {"type": "object"}, "description": "dry-run: the changes it would make"},
                       "notes": {"type": "array", "items": {"type": "string"}},
                       "changes": {"type": "integer"}, "written": {"type": "integer"}, "unchanged": {"type": "integer"},
                       "done_before": {"type": "integer"}, "failed": {"type": "integer"},
                       "failures": {"type": "array", "items": {"type": "object"}},
                       "error": {"type": "string", "nullable": true}}
      },
      "HubspotEvent": {
        "type": "object", "required": ["eventId", "subscriptionType", "objectId"],
        "properties": {"eventId": {"type": "integer"}, "subscriptionType": {"type": "string"}, "objectId": {"type": "integer"},
                       "propertyName": {"type": "string"}, "propertyValue": {"type": "string"}, "occurredAt": {"type": "integer"}}
      }
    }
  }
}
)json";

}  // namespace

const std::string& openapi_document() {
  static const std::string document = kDocument;
  return document;
}

}  // namespace rapport::serve
