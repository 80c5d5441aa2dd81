// panther-qgo: a thin command-line front end to the quic-go library (Debian's 0.29), so that
// panther-host can run quic-go on a shared machine. The programs shipped with quic-go cannot do
// that: example/ uses a built-in test certificate and writes no key log, example/client prints
// bodies instead of saving them, and interop/{server,client} hard-code :443, /certs, /www,
// /downloads and /logs. Everything QUIC, TLS, HTTP/3 and HTTP/0.9 here is quic-go's own code.
//
// The plugin hands this file to the host, which writes it and builds it offline in GOPATH mode.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	_ "unsafe" // go:linkname, for -key-update-interval

	"github.com/lucas-clemente/quic-go"
	"github.com/lucas-clemente/quic-go/http3"
	"github.com/lucas-clemente/quic-go/interop/http09"
	"github.com/lucas-clemente/quic-go/logging"
	"github.com/lucas-clemente/quic-go/qlog"
)

// Set at build time (-ldflags -X) to the digest of this file, so a changed source changes the
// compile command and thus the host's cache key.
var sourceDigest = "dev"

// quic-go 0.29 keeps its key update interval in an internal package, which its own interop
// client sets for the keyupdate test case (handshake.KeyUpdateInterval = 100). Go's internal
// rule forbids importing it from here, so the variable is reached by its linker name.
//
//go:linkname keyUpdateInterval github.com/lucas-clemente/quic-go/internal/handshake.KeyUpdateInterval
var keyUpdateInterval uint64

const usage = `usage:
  panther-qgo server -listen ADDR:PORT -cert PEM -key PEM -www DIR [-keylog FILE] [-qlog DIR] [-alpn h3|hq-interop] [-quic-version LIST]
                     [-cipher-suites LIST] [-retry]
  panther-qgo client (-ca PEM | -insecure) -out DIR [-keylog FILE] [-qlog DIR] [-alpn h3|hq-interop] [-quic-version LIST] [-timeout D]
                     [-cipher-suites LIST] [-resume | -0rtt] [-key-update-interval N] [-conn-id-length N] URL...
  panther-qgo unsupported TESTCASE
exit status: 0 success, 1 failure, 2 bad usage, 127 unsupported test case (the interop runner's convention)`

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("panther-qgo ")
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = server(os.Args[2:])
	case "client":
		err = client(os.Args[2:])
	case "unsupported":
		// The plugin plans this for an interop test case quic-go 0.29 cannot do; 127 is how
		// an interop-runner endpoint says so.
		fmt.Printf("unsupported test case: %s\n", strings.Join(os.Args[2:], " "))
		os.Exit(127)
	case "-h", "--help", "help":
		fmt.Println(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		log.Printf("error: %v", err)
		os.Exit(1)
	}
}

type common struct {
	keylog, qlogDir, alpn, versions, ciphers string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.keylog, "keylog", "", "write the TLS key log (NSS format) to this file")
	fs.StringVar(&c.qlogDir, "qlog", "", "write one qlog file per connection into this directory")
	fs.StringVar(&c.alpn, "alpn", "h3", "application protocol: h3 (HTTP/3) or hq-interop (HTTP/0.9)")
	fs.StringVar(&c.versions, "quic-version", "1", "comma-separated QUIC versions: 1, draft29 (or hex)")
	fs.StringVar(&c.ciphers, "cipher-suites", "", "comma-separated TLS 1.3 cipher suites to offer or accept, such as TLS_CHACHA20_POLY1305_SHA256 (default: all)")
}

// cipherSuites restricts tlsConf to -cipher-suites. quic-go's TLS (qtls) honours CipherSuites
// for TLS 1.3, which crypto/tls does not; quic-go's interop programs rely on it for chacha20.
func (c *common) cipherSuites(tlsConf *tls.Config) error {
	if c.ciphers == "" {
		return nil
	}
	known := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		known[cs.Name] = cs.ID
	}
	for _, name := range strings.Split(c.ciphers, ",") {
		id, ok := known[strings.TrimSpace(name)]
		if !ok || (id != tls.TLS_AES_128_GCM_SHA256 && id != tls.TLS_AES_256_GCM_SHA384 && id != tls.TLS_CHACHA20_POLY1305_SHA256) {
			return fmt.Errorf("-cipher-suites: %q is not a TLS 1.3 cipher suite (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256)", name)
		}
		tlsConf.CipherSuites = append(tlsConf.CipherSuites, id)
	}
	return nil
}

func (c *common) quicConfig(perspective string) (*quic.Config, error) {
	conf := &quic.Config{}
	for _, v := range strings.Split(c.versions, ",") {
		switch strings.TrimSpace(v) {
		case "1", "v1", "rfc9000", "00000001":
			conf.Versions = append(conf.Versions, quic.Version1)
		case "draft29", "draft-29", "ff00001d":
			conf.Versions = append(conf.Versions, quic.VersionDraft29)
		default:
			return nil, fmt.Errorf("-quic-version: unknown version %q (expected 1 or draft29)", v)
		}
	}
	if c.qlogDir != "" {
		if err := os.MkdirAll(c.qlogDir, 0o755); err != nil {
			return nil, err
		}
		dir := c.qlogDir
		conf.Tracer = qlog.NewTracer(func(_ logging.Perspective, connID []byte) io.WriteCloser {
			p := filepath.Join(dir, fmt.Sprintf("%s_%x.qlog", perspective, connID))
			f, err := os.Create(p)
			if err != nil {
				log.Printf("cannot create qlog %s: %v", p, err)
				return nil
			}
			return &bufferedFile{Writer: bufio.NewWriter(f), f: f}
		})
	}
	return conf, nil
}

func (c *common) keyLogWriter() (io.WriteCloser, error) {
	if c.keylog == "" {
		return nil, nil
	}
	return os.OpenFile(c.keylog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

func (c *common) checkALPN() error {
	if c.alpn != "h3" && c.alpn != "hq-interop" {
		return fmt.Errorf("-alpn: %q is not supported (expected h3 or hq-interop)", c.alpn)
	}
	return nil
}

type bufferedFile struct {
	*bufio.Writer
	f *os.File
}

func (b *bufferedFile) Close() error {
	if err := b.Writer.Flush(); err != nil {
		b.f.Close()
		return err
	}
	return b.f.Close()
}

func server(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	var c common
	c.register(fs)
	listen := fs.String("listen", "", "UDP address to listen on, such as 127.0.0.1:4433")
	certFile := fs.String("cert", "", "PEM certificate (chain) file")
	keyFile := fs.String("key", "", "PEM private key file")
	www := fs.String("www", "", "directory whose files are served")
	retry := fs.Bool("retry", false, "validate every client's address with a Retry before the handshake")
	fs.Parse(args)
	if *listen == "" || *certFile == "" || *keyFile == "" || *www == "" {
		return errors.New("server needs -listen, -cert, -key and -www")
	}
	if err := c.checkALPN(); err != nil {
		return err
	}
	if st, err := os.Stat(*www); err != nil || !st.IsDir() {
		return fmt.Errorf("-www %s is not a directory", *www)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return fmt.Errorf("cannot load -cert/-key: %w", err)
	}
	kl, err := c.keyLogWriter()
	if err != nil {
		return err
	}
	if kl != nil {
		defer kl.Close()
	}
	qconf, err := c.quicConfig("server")
	if err != nil {
		return err
	}
	if *retry {
		qconf.RequireAddressValidation = func(net.Addr) bool { return true }
	}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, KeyLogWriter: kl}
	if err := c.cipherSuites(tlsConf); err != nil {
		return err
	}
	mux := http.NewServeMux()
	files := http.FileServer(http.Dir(*www))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.Path)
		files.ServeHTTP(w, r)
	}))

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	errc := make(chan error, 1)
	var closer io.Closer
	if c.alpn == "h3" {
		s := &http3.Server{Addr: *listen, TLSConfig: tlsConf, QuicConfig: qconf, Handler: mux}
		closer = s
		go func() { errc <- s.ListenAndServe() }()
	} else {
		s := &http09.Server{Server: &http.Server{Addr: *listen, TLSConfig: tlsConf, Handler: mux}, QuicConfig: qconf}
		closer = s
		go func() { errc <- s.ListenAndServe() }()
	}
	log.Printf("quic-go server (%s, %s, versions %s, source %s, retry %v) listening on udp %s, serving %s", c.alpn, runtimeVersion(), c.versions, sourceDigest, *retry, *listen, *www)
	select {
	case err := <-errc:
		return err
	case sig := <-stop:
		log.Printf("stopping on %v", sig)
		// Closing flushes the qlog tracers of open connections.
		closer.Close()
		return nil
	}
}

func client(args []string) error {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	var c common
	c.register(fs)
	ca := fs.String("ca", "", "PEM file of the CA that signed the server's certificate")
	insecure := fs.Bool("insecure", false, "do not verify the server's certificate")
	out := fs.String("out", "", "directory the downloaded files are saved in, under their URL path")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	resume := fs.Bool("resume", false, "fetch the first URL, close the connection, then fetch the others on a new connection resuming the TLS session")
	zeroRTT := fs.Bool("0rtt", false, "as -resume, sending the second connection's requests in 0-RTT (hq-interop only)")
	keyUpdate := fs.Uint64("key-update-interval", 0, "initiate a key update every N packets (0: quic-go's default, 100000)")
	connIDLen := fs.Int("conn-id-length", 0, "length of the client's connection IDs: 0 (quic-go's default for a client) or 4 to 18")
	fs.Parse(args)
	urls := fs.Args()
	if len(urls) == 0 || *out == "" || (*ca == "" && !*insecure) {
		return errors.New("client needs -out, one of -ca or -insecure, and at least one URL")
	}
	if err := c.checkALPN(); err != nil {
		return err
	}
	if *zeroRTT {
		*resume = true
		if c.alpn != "hq-interop" {
			return errors.New("-0rtt needs -alpn hq-interop: quic-go 0.29's HTTP/3 client cannot send requests in 0-RTT")
		}
	}
	if *resume && len(urls) < 2 {
		return errors.New("-resume and -0rtt need at least two URLs: the first for the first connection, the rest for the resumed one")
	}
	if *keyUpdate > 0 {
		keyUpdateInterval = *keyUpdate
	}
	tlsConf := &tls.Config{InsecureSkipVerify: *insecure}
	if err := c.cipherSuites(tlsConf); err != nil {
		return err
	}
	var tickets <-chan struct{}
	if *resume {
		tlsConf.ClientSessionCache, tickets = newSessionCache(tls.NewLRUClientSessionCache(1))
	}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return fmt.Errorf("cannot read -ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-ca %s holds no PEM certificate", *ca)
		}
		tlsConf.RootCAs = pool
	}
	kl, err := c.keyLogWriter()
	if err != nil {
		return err
	}
	if kl != nil {
		defer kl.Close()
		tlsConf.KeyLogWriter = kl
	}
	qconf, err := c.quicConfig("client")
	if err != nil {
		return err
	}
	if *connIDLen != 0 && (*connIDLen < 4 || *connIDLen > 18) {
		return fmt.Errorf("-conn-id-length: %d is not 0 or between 4 and 18", *connIDLen)
	}
	qconf.ConnectionIDLength = *connIDLen
	var rt interface {
		http.RoundTripper
		io.Closer
	}
	if c.alpn == "h3" {
		rt = &http3.RoundTripper{TLSClientConfig: tlsConf, QuicConfig: qconf}
	} else {
		rt = &http09.RoundTripper{TLSClientConfig: tlsConf, QuicConfig: qconf}
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	log.Printf("quic-go client (%s, %s, versions %s, source %s, resume %v, 0-RTT %v): %d URL(s)", c.alpn, runtimeVersion(), c.versions, sourceDigest, *resume, *zeroRTT, len(urls))
	first := urls
	if *resume {
		first = urls[:1]
	}
	for _, u := range first {
		if err := download(ctx, rt, u, *out, http.MethodGet); err != nil {
			return err
		}
	}
	if !*resume {
		return nil
	}
	// As quic-go's interop client: wait for the server's session ticket, close the first
	// connection, and fetch the rest on a new one that resumes the session.
	select {
	case <-tickets:
	case <-time.After(10 * time.Second):
		return errors.New("no TLS session ticket from the server within 10 s after the first download: cannot resume")
	case <-ctx.Done():
		return fmt.Errorf("waiting for a session ticket: %w", ctx.Err())
	}
	if err := rt.Close(); err != nil {
		return fmt.Errorf("closing the first connection: %w", err)
	}
	method := http.MethodGet
	if *zeroRTT {
		method = http09.MethodGet0RTT
	}
	log.Printf("resuming the session for %d more URL(s)", len(urls)-1)
	for _, u := range urls[1:] {
		if err := download(ctx, rt, u, *out, method); err != nil {
			return err
		}
	}
	return nil
}

// sessionCache signals each session ticket it stores, so that the client knows when it can
// resume (quic-go's interop client does the same).
type sessionCache struct {
	tls.ClientSessionCache
	put chan<- struct{}
}

func newSessionCache(c tls.ClientSessionCache) (tls.ClientSessionCache, <-chan struct{}) {
	put := make(chan struct{}, 100)
	return &sessionCache{ClientSessionCache: c, put: put}, put
}

func (c *sessionCache) Put(key string, cs *tls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	select {
	case c.put <- struct{}{}:
	default:
	}
}

func download(ctx context.Context, rt http.RoundTripper, url, out, method string) error {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return fmt.Errorf("bad URL %q: %w", url, err)
	}
	clean := path.Clean("/" + req.URL.Path)
	if clean == "/" {
		clean = "/index.html"
	}
	dest := filepath.Join(out, filepath.FromSlash(clean))
	rsp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer rsp.Body.Close()
	// HTTP/0.9 has no status line: quic-go's http09 client leaves StatusCode at 0.
	if rsp.StatusCode != http.StatusOK && !(rsp.ProtoMajor == 0 && rsp.StatusCode == 0) {
		return fmt.Errorf("GET %s: status %s", url, rsp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, rsp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("GET %s: saving to %s: %w", url, dest, err)
	}
	log.Printf("GET %s: %s, %d bytes in %v, saved to %s", url, rsp.Proto, n, time.Since(start).Round(time.Millisecond), dest)
	return nil
}

func runtimeVersion() string { return "quic-go 0.29" }
