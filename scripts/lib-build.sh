# shellcheck shell=bash
#
# Shared by scripts/run-tests and scripts/local-stack (sourced, not run):
# install the Debian 12 packages that building, testing and running
# swarmctl need, and build it out of tree.
#
#   SWARMCTL_BUILD_DIR   build directory (default: REPO/_build)
#   SWARMCTL_CONFIGURE_FLAGS  extra ./configure arguments
#   SWARMCTL_MAKE_JOBS   parallel make jobs (default: number of CPUs)

# Each package, and what it is for:
#   gcc make libc6-dev autoconf automake libtool pkg-config   the build
#   libfcgi-dev libgnutls28-dev libpq-dev libjson-c-dev       libraries
#   libcurl4-gnutls-dev                                       the agent's HTTPS client
#   nginx gnutls-bin openssl postgresql curl jq valgrind      run and test
#   ca-certificates procps iproute2 util-linux passwd         ps, ss, runuser, setpriv, useradd
#   libfcgi-bin                                               cgi-fcgi: FastCGI to the responder, bypassing nginx
#   python3-cryptography                                      a third parser of the keys we write (key_encoding.sh)
#   chromium libnss3-tools nodejs fonts-dejavu-core           the console's browser test (console.sh: headless
#                                                             Chromium, pk12util/certutil, puppeteer-core from npm);
#                                                             npm too, unless nodejs already brings it
#   libseccomp-dev                                            the CA signer's syscall filter
#   softhsm2 p11-kit                                          CA keys in a PKCS#11 token (tests: SoftHSM2)
SC_PACKAGES="gcc make libc6-dev autoconf automake libtool pkg-config
libfcgi-dev libgnutls28-dev libpq-dev libjson-c-dev libcurl4-gnutls-dev
nginx gnutls-bin openssl postgresql curl jq valgrind
ca-certificates procps iproute2 util-linux passwd libfcgi-bin
python3-cryptography libseccomp-dev softhsm2 p11-kit
chromium libnss3-tools nodejs fonts-dejavu-core"

sc_say()
{
	printf '%s: %s\n' "${SC_PROG:-swarmctl}" "$*"
}

sc_die()
{
	printf '%s: error: %s\n' "${SC_PROG:-swarmctl}" "$*" >&2
	exit 1
}

sc_require_root()
{
	if [ "$(id -u)" -ne 0 ]; then
		sc_die "run me as root (packages, PostgreSQL as user postgres, nginx)"
	fi
}

# sc_install_deps — install whichever of SC_PACKAGES is missing; does
# nothing (and needs no network) when all are there.
sc_install_deps()
{
	# shellcheck disable=SC2086
	sc_install_packages $SC_PACKAGES
	# Debian's nodejs comes without npm; NodeSource's includes it and
	# conflicts with Debian's npm package.
	command -v npm >/dev/null 2>&1 || sc_install_packages npm
}

# sc_install_packages PKG... — apt-get install whichever is missing.
sc_install_packages()
{
	local pkg missing=
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
			missing="$missing $pkg"
		fi
	done
	if [ -z "$missing" ]; then
		return 0
	fi
	sc_say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -q update || sc_die "apt-get update failed"
	# shellcheck disable=SC2086
	apt-get -q install -y --no-install-recommends $missing ||
	    sc_die "apt-get install failed"
}

# sc_build_dir REPO — where the build tree lives.
sc_build_dir()
{
	printf '%s\n' "${SWARMCTL_BUILD_DIR:-$1/_build}"
}

# _sc_logged LOG CMD... — run CMD with its output in LOG; on failure show
# the end of LOG and fail.
_sc_logged()
{
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		sc_die "failed: $* (full log: $log)"
	fi
}

# sc_build REPO — autoreconf in the source tree, configure and make in the
# build directory.  /usr/local and /var are the paths `make install` (and
# scripts/local-stack) use.
sc_build()
{
	local repo=$1 build jobs
	build=$(sc_build_dir "$repo")
	jobs=${SWARMCTL_MAKE_JOBS:-$(nproc 2>/dev/null || echo 2)}
	mkdir -p "$build"
	sc_say "autoreconf (log: $build/autoreconf.log)"
	_sc_logged "$build/autoreconf.log" sh -c 'cd "$1" && autoreconf -fi' sh "$repo"
	sc_say "configure (log: $build/configure.log)"
	# shellcheck disable=SC2086
	_sc_logged "$build/configure.log" sh -c 'cd "$1" && shift && exec "$@"' sh "$build" \
	    "$repo/configure" --prefix=/usr/local --sysconfdir=/etc --localstatedir=/var \
	    ${SWARMCTL_CONFIGURE_FLAGS:-}
	sc_say "make -j$jobs"
	make -C "$build" -j"$jobs" || sc_die "make failed"
}
