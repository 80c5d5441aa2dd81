"""Builds one Ivy tester, as PANTHER's compile phase does, into BUILD_DIR (in the tools cache).

argv: ivy_build.py TOOLS_DIR BUILD_DIR PROTOCOL TEST TEST_ITERS [SOURCES_HASH]
SOURCES_HASH only keys the host's compile cache to this script and the locale file.
Idempotent: the venv (panther-ms-ivy[z3]) and the spec wheel (panther-net) are kept in
TOOLS_DIR. Writes BUILD_DIR/compilation_status.txt ("Compilation succeeded" or why not).
"""
import glob, os, shutil, subprocess, sys, venv, zipfile

IVY = "panther-ms-ivy[z3]==1.10.1"
SPECS = "panther-net==1.2.0"
tools, build, proto, test, iters = sys.argv[1:6]
here = os.path.dirname(os.path.abspath(__file__))
status = os.path.join(build, "compilation_status.txt")
os.makedirs(build, exist_ok=True)

def fail(msg):
    open(status, "w").write("Compilation failed: " + msg + "\n")
    print(msg, file=sys.stderr)
    sys.exit(1)

env_dir = os.path.join(tools, "ivy-venv")
py = os.path.join(env_dir, "bin", "python")
if not os.path.exists(os.path.join(env_dir, "bin", "ivyc")):
    venv.create(env_dir, with_pip=True)
    subprocess.run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", IVY], check=True)
dl = os.path.join(tools, "specs-wheel")
wheels = glob.glob(os.path.join(dl, "panther_net-*.whl"))
if not wheels:
    subprocess.run([py, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps", SPECS, "-d", dl], check=True)
    wheels = glob.glob(os.path.join(dl, "panther_net-*.whl"))
prefix = "panther/plugins/services/testers/panther_ivy/protocol-testing/%s/" % proto
n = 0
with zipfile.ZipFile(wheels[0]) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name.endswith((".ivy", ".h")):
            # PANTHER copies every spec flat next to the test; ivyc finds includes there.
            with z.open(name) as src, open(os.path.join(build, os.path.basename(name)), "wb") as dst:
                shutil.copyfileobj(src, dst)
            n += 1
if not os.path.exists(os.path.join(build, test + ".ivy")):
    fail("%s.ivy is not among the %d %s specs of %s" % (test, n, proto, SPECS))

if proto == "minip":
    # panther-net 1.2.0 ships the MiniP stack without its locale: `tls_api`, `net`, `pingd`
    # and `zero_rtt_allowed` are used but defined nowhere, and the shim calls the network
    # `minip_net`. Our locale defines them over Ivy's udp_impl; the shim uses `net`.
    shutil.copy(os.path.join(here, "minip_locale.ivy"), build)
    shim = os.path.join(build, "ping_shim.ivy")
    text = open(shim).read()
    if "include ping_ser\n" not in text:
        fail("ping_shim.ivy of %s no longer has `include ping_ser`; the locale cannot be placed" % SPECS)
    text = text.replace("minip_net", "net").replace("include ping_ser\n", "include ping_ser\ninclude minip_locale\n", 1)
    open(shim, "w").write(text)
    # The ping payload must be exactly 4 bytes (`f.data.end = 4` in ping_frame.ivy); the
    # shipped files end with a newline (5 bytes), and the tester then never generates a ping.
    open(os.path.join(build, "http_request_file.txt"), "w").write("ping")
    open(os.path.join(build, "http_response_file.txt"), "w").write("pong")

out = subprocess.run([py, "-c", "import ivy,z3,os;print(os.path.dirname(ivy.__file__));print(os.path.dirname(z3.__file__))"],
                     capture_output=True, text=True, check=True).stdout.split("\n")
ivy_dir, z3 = out[0].strip(), out[1].strip()
# ivyc links `-L <ivy>/lib -rpath <ivy>/lib -lz3`, a directory the wheel lacks: point it at
# the z3-solver wheel's library so the tester runs without a system libz3.
if not os.path.exists(os.path.join(ivy_dir, "lib")):
    os.symlink(os.path.join(z3, "lib"), os.path.join(ivy_dir, "lib"))
env = dict(os.environ, PATH=os.path.join(env_dir, "bin") + ":" + os.environ.get("PATH", ""),
           CPATH=os.path.join(z3, "include"), LIBRARY_PATH=os.path.join(z3, "lib"))
if proto == "quic" and not glob.glob("/usr/include/picotls*") and not os.path.isdir(os.path.join(tools, "picotls")):
    fail("the QUIC testers link picotls (h2o/picotls), which no package registry carries; "
         "build it into %s/picotls first" % tools)
r = subprocess.run(["ivyc", "show_compiled=false", "trace=false", "target=test", "test_iters=" + iters, test + ".ivy"],
                   cwd=build, env=env)
if r.returncode != 0 or not os.path.exists(os.path.join(build, test)):
    fail("ivyc exited with %d and built no %s" % (r.returncode, test))
cpp = open(os.path.join(build, test + ".cpp")).read()
if "ivy_assert" not in cpp and "ivy_assume" not in cpp:
    # Without an isolate Ivy may drop every monitor and the tester would pass anything.
    fail("the generated tester checks nothing (no ivy_assert/ivy_assume in %s.cpp)" % test)
open(status, "w").write("Compilation succeeded\n")
