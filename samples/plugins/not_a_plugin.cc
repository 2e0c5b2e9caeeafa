// A loadable library without DURACTOR_PLUGIN: the host must refuse it by name.

extern "C" int not_a_duractor_plugin() {
  return 42;
}
