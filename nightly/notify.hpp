#pragma once
// The chat webhook of a nightly run (Slack incoming webhooks, Microsoft Teams connectors and
// Workflows): one POST summarising the run. The URL is a secret and never printed: messages name
// the config place of the webhook instead.

#include <string>

#include "nightly/config.hpp"

namespace rapport::nightly {

struct WebhookResult {
  bool ok = false;
  long status = 0;      // the HTTP status, 0 when none arrived
  std::string message;  // what happened, without the URL
};

/// Reads the URL (url_env or url_file) and POSTs `body` as JSON. Never throws.
WebhookResult post_webhook(const Webhook& hook, const std::string& body);

}  // namespace rapport::nightly
