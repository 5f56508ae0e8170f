#pragma once
// The seam between the HTTP server and what it serves. The server owns the sockets, the parser
// limits and the deadlines; a RequestHandler decides every answer. stripe-ingress's handler
// serves the webhook, the portal and the status routes; stripe-worker's serves the status routes.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <memory>
#include <string_view>

#include "common/core/error_body.hpp"
#include "common/http/http_types.hpp"

namespace stripe_sync {

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // One parsed request. `executor` is the connection's strand: `respond` must be called exactly
  // once, on it (at once, or later from work posted elsewhere).
  virtual void handle(std::shared_ptr<Request> request, const boost::asio::ip::address& peer,
                      boost::asio::any_io_executor executor, Respond respond) = 0;

  // Hooks for the handler's metrics, called on the connection's strand (or the acceptor's);
  // each does nothing unless overridden.
  virtual void on_response(unsigned /*status*/) {}
  virtual void on_body_too_large() {}
  virtual void on_connection_opened() {}
  virtual void on_connection_closed() {}
  virtual void on_connection_rejected() {}  // the connection cap was reached
};

}  // namespace stripe_sync
