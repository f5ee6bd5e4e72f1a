# Sourced first by a test that needs a network namespace of its own
# (for sysctls or an MTU of its own): as root it runs the test again in
# one (unshare -n), with OPT_IN_NETNS set and the loopback up; else
# OPT_IN_NETNS stays unset and the test says what it leaves out.
if [ -z "${OPT_IN_NETNS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	command -v unshare >/dev/null; then
	OPT_IN_NETNS=1 exec unshare -n "$0" "$@"
fi
if [ -n "${OPT_IN_NETNS:-}" ]; then
	ip link set lo up
fi
