<?php

declare(strict_types=1);

namespace App\Http\Controllers;

use App\Application;
use App\Http\Response;
use Example\Greeting\Greeter;
use Example\HtmlPage\Page;

final class HomeController
{
    public function __construct(private readonly Application $app)
    {
    }

    public function index(): Response
    {
        $greeter = new Greeter((string) $this->app->config('salutation', 'Hello'));
        $page = (new Page((string) $this->app->config('name')))
            ->stylesheet('/css/app.css')
            ->paragraph($greeter->greet((array) $this->app->config('greet', [])))
            ->paragraph('Environment: ' . (string) $this->app->config('env'));

        return new Response(200, $page->render(), ['Content-Type' => 'text/html; charset=utf-8']);
    }
}
