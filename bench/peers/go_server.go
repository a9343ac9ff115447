// SPDX-License-Identifier: MIT
// bench/peers/go_server.go: the Go net/http peer of bench/http.sh. Standard library only;
// bench/http.sh builds it with Debian's golang-go into a temporary directory and runs it with
// GOMAXPROCS=1, so it uses one core like the other servers.
//
//	go_server -port P
//
// GET /plaintext answers "Hello, World!" as text/plain and GET /json {"message":"Hello, World!"}
// (encoded per request with encoding/json, as TechEmpower requires) as application/json. No
// logging.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
)

type message struct {
	Message string `json:"message"`
}

func main() {
	port := flag.Int("port", 8080, "TCP port on 127.0.0.1")
	flag.Parse()
	hello := []byte("Hello, World!")
	mux := http.NewServeMux()
	mux.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		body, err := json.Marshal(message{"Hello, World!"})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", *port), Handler: mux}
	log.Fatal(srv.ListenAndServe())
}
