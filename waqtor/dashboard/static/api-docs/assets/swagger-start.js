// Starts Swagger UI on the gateway's own API document. It is a file rather than an inline script so
// that the page's Content-Security-Policy can refuse every inline script. The document's URL is
// relative to the page, so it also works behind a proxy that serves the gateway under a path prefix.
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  // No badge from the public validator: the page talks to the gateway only.
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
