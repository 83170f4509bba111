package pages

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

//go:embed templates/*.html static/style.css
var builtin embed.FS

// pageNames are the templates rendered as pages; each is executed inside
// layout.html, whose "layout" template calls the page's "title" and
// "content".
func pageNames() []string {
	return []string{"login.html", "account.html", "token.html", "reset.html", "message.html"}
}

// ErrUnknownTemplate: the template directory holds an .html file that
// overrides nothing, most likely a misspelt name.
var ErrUnknownTemplate = errors.New("unknown template")

// load parses the built-in templates, each replaced by the file of the
// same name in dir if there is one, and returns the pages and the
// stylesheet.
// Templates are the pages' parsed templates and stylesheet.
type Templates struct {
	pages map[string]*template.Template
	style []byte
}

// LoadTemplates parses the built-in templates and stylesheet; the files
// found in dir, if it is not "", replace the built-in ones of the same
// name (other .html files are an error).
func LoadTemplates(dir string) (*Templates, error) {
	pages, style, err := load(dir)
	if err != nil {
		return nil, err
	}
	return &Templates{pages: pages, style: style}, nil
}

func load(dir string) (map[string]*template.Template, []byte, error) {
	src := map[string][]byte{}
	for _, n := range append(pageNames(), "layout.html") {
		b, err := builtin.ReadFile("templates/" + n)
		if err != nil {
			return nil, nil, err
		}
		src[n] = b
	}
	style, err := builtin.ReadFile("static/style.css")
	if err != nil {
		return nil, nil, err
	}
	if dir != "" {
		if style, err = override(dir, src, style); err != nil {
			return nil, nil, err
		}
	}
	pages := map[string]*template.Template{}
	for _, n := range pageNames() {
		t, err := template.New(n).Parse(string(src["layout.html"]))
		if err == nil {
			t, err = t.Parse(string(src[n]))
		}
		if err != nil {
			return nil, nil, fmt.Errorf("template %s: %w", n, err)
		}
		if t.Lookup("layout") == nil {
			return nil, nil, fmt.Errorf("template %s: layout.html defines no \"layout\"", n)
		}
		pages[n] = t
	}
	return pages, style, nil
}

// override replaces src entries (and the stylesheet) by the files of dir.
func override(dir string, src map[string][]byte, style []byte) ([]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || (!strings.HasSuffix(n, ".html") && n != "style.css") {
			continue
		}
		if _, ok := src[n]; !ok && n != "style.css" {
			return nil, fmt.Errorf("templates: %s: %w (want one of layout.html, %s or style.css)",
				n, ErrUnknownTemplate, strings.Join(pageNames(), ", "))
		}
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if n == "style.css" {
			style = b
		} else {
			src[n] = b
		}
	}
	return style, nil
}

// view is what every template gets.
type view struct {
	Paths Paths
	Style string
	// Page-specific data; see each template.
	Data any
	// Error is a message about what went wrong, shown prominently.
	Error string
}

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, status int, page string, data any, errMsg string) {
	var b bytes.Buffer
	err := h.pages[page].ExecuteTemplate(&b, "layout", view{Paths: h.paths, Style: StylePath, Data: data, Error: errMsg})
	if err != nil {
		h.logger.Error("page: rendering failed", zap.String("page", page), zap.Error(err))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte("Internal Server Error\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// messageData is message.html's data.
type messageData struct {
	Title, Text string
	// Link, if set, is offered as the way on.
	Link, LinkText string
}

// message renders a page that only says something.
func (h *Handler) message(w http.ResponseWriter, status int, title, text string) {
	h.render(w, status, "message.html", messageData{Title: title, Text: text}, "")
}
