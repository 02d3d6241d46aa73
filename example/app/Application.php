<?php

declare(strict_types=1);

namespace App;

use App\Http\Response;

/**
 * A tiny stand-in for Laravel's application and HTTP kernel: config from config/, routes from
 * routes/web.php, one controller per request.
 */
final class Application
{
    /** @var array<string, mixed> */
    private array $config;

    /** @var array<string, array{0: class-string, 1: string}> */
    private array $routes;

    public function __construct(private readonly string $basePath)
    {
        $this->config = require $basePath . '/config/app.php';
        $this->routes = require $basePath . '/routes/web.php';
    }

    public function config(string $key, mixed $default = null): mixed
    {
        return $this->config[$key] ?? $default;
    }

    public function basePath(string $path = ''): string
    {
        return $path === '' ? $this->basePath : $this->basePath . '/' . ltrim($path, '/');
    }

    public function handle(string $method, string $uri): Response
    {
        $path = '/' . trim((string) parse_url($uri, PHP_URL_PATH), '/');
        $route = $this->routes[$path] ?? null;
        if ($route === null) {
            return new Response(404, "Not Found\n", ['Content-Type' => 'text/plain; charset=utf-8']);
        }
        if ($method !== 'GET' && $method !== 'HEAD') {
            return new Response(405, "Method Not Allowed\n", ['Allow' => 'GET, HEAD']);
        }
        [$class, $action] = $route;

        return (new $class($this))->{$action}();
    }
}
