// reckon-demo: the embedded single-node store in action, until the reckond server lands.
// Opens (or creates) a store in DATA_DIR (default ./data), appends a few events to a demo
// stream, reads the stream and $all back, and prints them.
#include <cstdio>
#include <string>

#include "reckon/store.h"

int main(int argc, char** argv) {
  reckon::StoreOptions options;
  options.data_dir = argc > 1 ? argv[1] : "./data";
  auto store = reckon::Store::open(options);
  if (!store) {
    std::fprintf(stderr, "%s\n", store.status().to_string().c_str());
    return 1;
  }
  auto& s = **store;
  std::vector<reckon::NewEvent> events;
  for (int i = 0; i < 3; ++i) {
    reckon::NewEvent e;
    e.event_type = i == 0 ? "CartOpened" : "ItemAdded";
    e.data = "{\"item\":" + std::to_string(i) + ",\"qty\":{\"$sum\":1}}";
    e.tags = {"demo"};
    events.push_back(std::move(e));
  }
  auto appended = s.append("cart-demo", reckon::kExpectAny, std::move(events));
  if (!appended) {
    std::fprintf(stderr, "%s\n", appended.status().to_string().c_str());
    return 1;
  }
  std::printf("appended cart-demo versions %lld..%lld at position %llu (fsynced)\n",
              static_cast<long long>(appended->first_version),
              static_cast<long long>(appended->last_version),
              static_cast<unsigned long long>(appended->position));
  reckon::ReadStreamOptions ro;
  ro.from_version = appended->first_version;
  auto page = s.read("cart-demo", ro);
  if (!page) {
    std::fprintf(stderr, "%s\n", page.status().to_string().c_str());
    return 1;
  }
  std::printf("%-10s %-8s %-9s %-12s %s\n", "stream", "version", "position", "type", "data");
  for (const auto& e : page->events) {
    std::printf("%-10s %-8lld %-9llu %-12s %s\n", e.stream_id.c_str(),
                static_cast<long long>(e.version), static_cast<unsigned long long>(e.position),
                e.event_type.c_str(), e.data.c_str());
  }
  auto stats = s.stats();
  std::printf("store '%s' in %s: %llu events in $all\n", options.store_id.c_str(),
              options.data_dir.c_str(), static_cast<unsigned long long>(stats.last_position));
  return 0;
}
