package httpapi

import (
	_ "embed" // the OpenAPI document
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDoc is the OpenAPI 3.1 description of every route New registers, served at
// GET /openapi.json. TestOpenAPIDescribesEveryRoute keeps it true: a route added without its
// description, or a documented status no request produces, fails it.
//
//go:embed openapi/openapi.json
var openAPIDoc []byte

// openAPI serves the document.
func openAPI(c *gin.Context) {
	c.Data(http.StatusOK, "application/json", openAPIDoc)
}
