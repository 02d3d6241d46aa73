<?php

declare(strict_types=1);

namespace Example\HtmlPage;

use Example\TextUtils\Str;

final class Page
{
    /** @var list<string> */
    private array $paragraphs = [];

    /** @var list<string> */
    private array $stylesheets = [];

    public function __construct(private readonly string $title)
    {
    }

    public function paragraph(string $text): self
    {
        $this->paragraphs[] = $text;

        return $this;
    }

    public function stylesheet(string $href): self
    {
        $this->stylesheets[] = $href;

        return $this;
    }

    /** Everything passed in is text, never markup: the page escapes it all. */
    public function render(): string
    {
        $links = '';
        foreach ($this->stylesheets as $href) {
            $links .= '  <link rel="stylesheet" href="' . Str::e($href) . "\">\n";
        }
        $body = '';
        foreach ($this->paragraphs as $text) {
            $body .= '  <p>' . Str::e($text) . "</p>\n";
        }
        $title = Str::e($this->title);
        $id = Str::slug($this->title);

        return <<<HTML
        <!doctype html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>{$title}</title>
        {$links}</head>
        <body id="{$id}">
          <h1>{$title}</h1>
        {$body}</body>
        </html>

        HTML;
    }
}
