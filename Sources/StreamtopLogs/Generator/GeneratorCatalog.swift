/// The paths and user agents the traffic generator draws from, most popular first.
enum GeneratorCatalog {
    static let paths = [
        "/", "/index.html", "/static/app.js", "/static/style.css", "/api/v1/products", "/products/{id}",
        "/images/logo.png", "/api/v1/cart", "/search", "/favicon.ico", "/api/v1/checkout", "/login",
        "/blog/", "/blog/posts/{id}", "/users/{id}", "/api/v1/users/{id}", "/robots.txt", "/sitemap.xml",
        "/about", "/contact", "/static/fonts/inter.woff2", "/api/v1/recommendations", "/wp-login.php",
        "/.env", "/category/shoes", "/category/bags", "/cart", "/checkout", "/help/shipping", "/feed.xml",
    ]
    static let agents = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
        "curl/8.4.0",
        "python-requests/2.31.0",
    ]
    static let crawlerAgent = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
}
