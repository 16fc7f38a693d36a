export default function ErrorBanner({ message, onRetry }) {
  return (
    <div className="banner banner-error" role="alert" data-testid="error-banner">
      <p>{message}</p>
      <button type="button" className="button" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}
