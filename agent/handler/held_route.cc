#include "agent/handler/held_route.h"

namespace keymux::handler {

HeldRoute::HeldRoute(spop::Session& held_session, std::uint64_t stream, std::uint64_t frame,
                     const router::RouteRequest& r, router::Time held_since,
                     router::Time held_until)
    : session(&held_session),
      stream_id(stream),
      frame_id(frame),
      since(held_since),
      deadline(held_until),
      method_(r.method),
      path_(r.path),
      request_id_(r.request_id),
      body_prefix_(r.body_prefix),
      header_model_(r.header_model),
      content_type_(r.content_type),
      client_token_(r.client_token),
      body_size_(r.body_size),
      body_len_(r.body_len) {
  if (r.model) model_.emplace(*r.model);
}

router::RouteRequest HeldRoute::request() const {
  router::RouteRequest r;
  r.method = method_;
  r.path = path_;
  if (model_) r.model = *model_;
  r.request_id = request_id_;
  r.body_size = body_size_;
  r.body_len = body_len_;
  r.body_prefix = body_prefix_;
  r.header_model = header_model_;
  r.content_type = content_type_;
  r.client_token = client_token_;
  return r;
}

}  // namespace keymux::handler
