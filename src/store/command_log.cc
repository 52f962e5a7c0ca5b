#include "store/command_log.h"

#include <future>

namespace reckon::store {

storage::CommandResult CommandLog::submit(std::string command) {
  std::promise<storage::CommandResult> promise;
  auto future = promise.get_future();
  submit_async(std::move(command),
               [&promise](storage::CommandResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace reckon::store
