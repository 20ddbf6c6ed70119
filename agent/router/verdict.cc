#include "agent/router/verdict.h"

namespace keymux::router {

Verdict classify(int status) {
  if (status >= 200 && status < 300) return Verdict::kSuccess;
  if (status == 429) return Verdict::kKeyOutOfBudget;
  if (status == 401 || status == 403) return Verdict::kKeyRevoked;
  // 0: nothing came back. Any 5xx (500, 502, 503, 504, Anthropic's 529 and
  // whatever else a relay invents) is the provider's until proved otherwise.
  if (status == 0 || (status >= 500 && status < 600)) return Verdict::kProviderFault;
  return Verdict::kRequestFault;
}

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kSuccess:
      return "success";
    case Verdict::kKeyOutOfBudget:
      return "key_out_of_budget";
    case Verdict::kKeyRevoked:
      return "key_revoked";
    case Verdict::kProviderFault:
      return "provider_fault";
    case Verdict::kRequestFault:
      return "request_fault";
  }
  return "unknown";
}

}  // namespace keymux::router
