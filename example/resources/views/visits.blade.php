<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <title>{{ config('app.name') }}: visits</title>
    <link rel="stylesheet" href="/css/app.css">
</head>
<body>
    <h1>Hello from Laravel {{ app()->version() }}</h1>
    <p>This request wrote visit <strong id="visit">#{{ $visit->id }}</strong>; the queue worker stamps it. {{ $total }} visits so far.</p>
    <table>
        <thead><tr><th>#</th><th>path</th><th>note</th><th>at</th><th>processed by the worker</th></tr></thead>
        <tbody>
        @foreach ($visits as $row)
            <tr data-visit="{{ $row->id }}" data-processed="{{ $row->processed_at ? 'yes' : 'no' }}">
                <td>{{ $row->id }}</td>
                <td>{{ $row->path }}</td>
                <td>{{ $row->note }}</td>
                <td>{{ $row->created_at->toDateTimeString() }}</td>
                <td>{{ $row->processed_at ? $row->processed_at->toDateTimeString() : 'queued' }}</td>
            </tr>
        @endforeach
        </tbody>
    </table>
</body>
</html>
