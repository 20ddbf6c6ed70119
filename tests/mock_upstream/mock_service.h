// The mock provider's answers: one MockService per worker thread turns each
// parsed request into a Reply, consulting the shared MockState for keys, rate
// windows and faults. No I/O: the connection sends what the Reply says.
#pragma once

#include <cstdint>
#include <string>

#include "tests/mock_upstream/faults.h"
#include "tests/mock_upstream/http_request_parser.h"
#include "tests/mock_upstream/llm_request.h"
#include "tests/mock_upstream/mock_state.h"
#include "tests/mock_upstream/reply.h"
#include "tests/mock_upstream/responses.h"

namespace keymux::mock {

class MockService {
 public:
  // `seed` feeds this worker's fault dice; `worker` makes answer ids unique.
  MockService(MockState& state, std::uint64_t seed, int worker);

  // `reply` must be clear.
  void handle(const HttpRequest& request, Reply& reply);
  // The answer to a request the parser refused (`status` 400 or 413); the
  // connection closes after it.
  void handle_malformed(int status, Reply& reply);

 private:
  enum class Api { kOpenAi, kAnthropic };
  enum class Endpoint { kChat, kMessages, kModels, kEcho };

  void answer_v1(const HttpRequest& request, Reply& reply);
  void answer_error(Api api, int status, std::string_view message, Reply& reply);
  void answer_ok(Endpoint endpoint, const HttpRequest& request, const LlmRequest& llm,
                 std::string_view key_id, const Faults& faults, Reply& reply);
  // Fills id_ and text_ for a new answer.
  Completion new_completion(Api api, const LlmRequest& llm, std::string_view key_id);
  void answer_stream(Api api, const LlmRequest& llm, std::string_view key_id, const Faults& faults,
                     Reply& reply);

  MockState& state_;
  FaultDice dice_;
  const int worker_;
  std::uint64_t serial_ = 0;
  // Scratch, reused from request to request.
  std::string headers_;
  std::string body_;
  std::string text_;
  std::string id_;
};

}  // namespace keymux::mock
