package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/dingq/dingq/schema"
	"github.com/dingq/dingq/worker/deadletters"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// contentSecurityPolicy allows the console's own stylesheet and script, and nothing else: no
// inline script or style, no other origin, no frames, forms posting only back here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Config sets up a [Console].
type Config struct {
	// JS is the JetStream the fleet uses; its connection receives the outcome events and the
	// workers' heartbeats.
	JS jetstream.JetStream
	// Names derives the fleet's subjects, streams and buckets. Default prefix "dingq".
	Names schema.Names
	// Apps are the named apps served (each has a job stream); the default app always is.
	Apps []string
	// Labels names the keys of the rate-limit and token buckets (see dispatcher/fleet.Labels).
	Labels map[string]string
	// Token, when set, is asked of every request: as a bearer token, or through the login form.
	Token string
	// ReadOnly hides and refuses every action (replay, purge).
	ReadOnly bool
	// Logger receives what the console does: logins refused, replays and purges run.
	Logger zerolog.Logger
}

// Console serves the operations console. Create it with [New]; Close it when done.
type Console struct {
	cfg     Config
	log     zerolog.Logger
	storeMu sync.Mutex
	store   *deadletters.Store // nil until the dead-letter stream exists
	pages   map[string]*template.Template
	static  http.Handler
	cop     *http.CrossOriginProtection
	secret  []byte // binds the forms' CSRF tokens: random per process, or derived from the token
	session string // the session cookie's value, with a token
	mux     *http.ServeMux

	activity *activity
	workers  *workers
	tally    tallyCache
	subs     []*nats.Subscription

	runsMu sync.Mutex
	runs   map[string]*run
	runCtx context.Context
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// New opens the dead-letter stream, subscribes to the outcome events and the workers'
// heartbeats, and returns the console. ctx bounds the opening only.
func New(ctx context.Context, cfg Config) (*Console, error) {
	if cfg.JS == nil {
		return nil, errors.New("console: no JetStream")
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	static, _ := fs.Sub(staticFS, "static")
	c := &Console{cfg: cfg, log: cfg.Logger, pages: pages,
		static: http.StripPrefix("/static/", http.FileServerFS(static)), cop: http.NewCrossOriginProtection(),
		secret: make([]byte, 32), runs: map[string]*run{},
		activity: newActivity(), workers: newWorkers()}
	_, _ = rand.Read(c.secret)
	if cfg.Token != "" {
		c.session = session(cfg.Token)
		// Derived from the token, so that consoles behind one address (replicas, a restart)
		// accept each other's forms.
		c.secret = []byte(session(cfg.Token + "\x00csrf"))
	}
	c.runCtx, c.stop = context.WithCancel(context.Background())
	nc := cfg.JS.Conn()
	for subject, handle := range map[string]nats.MsgHandler{
		cfg.Names.EventSubjects():  c.activity.event,
		cfg.Names.WorkerSubjects(): c.workers.beat,
	} {
		sub, err := nc.Subscribe(subject, handle)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("console: subscribe to %s: %w", subject, err)
		}
		c.subs = append(c.subs, sub)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.activity.backfill(c.runCtx, cfg.JS, cfg.Names, c.log)
	}()
	c.routes()
	return c, nil
}

// deadLetters returns the dead-letter store, opened on first use: a console may start before any
// worker has created the stream.
func (c *Console) deadLetters(ctx context.Context) (*deadletters.Store, error) {
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	if c.store == nil {
		s, err := deadletters.Open(ctx, c.cfg.JS, c.cfg.Names)
		if err != nil {
			return nil, err
		}
		c.store = s
	}
	return c.store, nil
}

// Close stops the subscriptions and waits for replays and purges in progress to stop.
func (c *Console) Close() {
	for _, s := range c.subs {
		_ = s.Unsubscribe()
	}
	c.stop()
	c.wg.Wait()
	c.activity.close()
}

func (c *Console) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", c.overview)
	m.HandleFunc("GET /letters", c.letters)
	m.HandleFunc("GET /letters/{seq}", c.letter)
	m.HandleFunc("POST /letters/act", c.act)
	m.HandleFunc("GET /runs/{id}", c.runPage)
	m.HandleFunc("GET /jobs", c.job)
	m.HandleFunc("GET /limits", c.limits)
	m.HandleFunc("GET /live", c.live)
	m.HandleFunc("GET /live/events", c.liveEvents)
	m.HandleFunc("GET /login", c.login)
	m.HandleFunc("POST /login", c.login)
	m.HandleFunc("POST /logout", c.logout)
	m.Handle("GET /static/", c.static)
	c.mux = m
}

// ServeHTTP answers a request: security headers on every response, the login for a request
// without the token, and the cross-site checks on every POST.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	public := r.URL.Path == "/login" || len(r.URL.Path) > 8 && r.URL.Path[:8] == "/static/"
	if !public && !c.authorized(r) {
		if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		http.Error(w, "unauthorized: the console's token is needed", http.StatusUnauthorized)
		return
	}
	if r.Method == http.MethodPost {
		if err := c.cop.Check(r); err != nil {
			http.Error(w, "refused: a cross-site request", http.StatusForbidden)
			return
		}
		if r.URL.Path != "/login" && !c.checkCSRF(r) {
			http.Error(w, "refused: the form's token is missing or stale; reload the page", http.StatusForbidden)
			return
		}
	}
	c.mux.ServeHTTP(w, r)
}

// view is what every page's template gets.
type view struct {
	Title    string
	Nav      string
	CSRF     string
	ReadOnly bool
	LoggedIn bool // a token is set: the page offers to log out
	Data     any
}

// render executes page with data into a buffer first, so that a template error is a clean 500.
func (c *Console) render(w http.ResponseWriter, r *http.Request, page, title string, data any) {
	t, ok := c.pages[page]
	if !ok {
		http.Error(w, "no page "+page, http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	v := view{Title: title, Nav: page, CSRF: c.csrfToken(), ReadOnly: c.cfg.ReadOnly, LoggedIn: c.cfg.Token != "", Data: data}
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		c.log.Error().Err(err).Str("page", page).Msg("console: render")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// fail answers a request that could not be served with the error, on a page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	w.WriteHeader(code)
	c.render(w, r, "error", "Error", err.Error())
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := n[len("templates/") : len(n)-len(".html")]
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}
